// `postbote oauth login --mailbox NAME`: signs a mailbox in with the device-code flow and stores its
// refresh token encrypted in the state folder. Run it as the service's user (the file is 0600).
import { deviceLogin } from '../oauth/login.js';
import { mailboxNameError, mailboxRequiredError } from './mailbox-names.js';
import { setup } from './setup.js';

export async function oauthLoginCommand(o: { config: string; mailbox?: string }): Promise<void> {
  const { config } = setup(o.config, true);
  if (o.mailbox === undefined) throw mailboxRequiredError(config);
  const bad = mailboxNameError(config, [o.mailbox]);
  if (bad) throw bad;
  const mailbox = config.mailboxes.find((m) => m.name === o.mailbox)!;
  await deviceLogin(mailbox, { say: (line) => console.log(line) });
  console.log(`Check it with: postbote check -c ${o.config}`);
}
