// `postbote exchange-connector`: prints the Exchange Management Shell commands that set up the
// dedicated receive connector for this configuration, each step explained (English or German).
import { PostboteError } from '../errors.js';
import { type ExchangeVersion, exchangeScript } from '../exchange/powershell.js';
import type { Lang } from '../exchange/texts.js';
import { setup } from './setup.js';

export async function exchangeConnectorCommand(o: {
  config: string;
  lang: string;
  version: string;
}): Promise<void> {
  const lang = o.lang.toLowerCase();
  if (lang !== 'en' && lang !== 'de') {
    throw new PostboteError('CONFIG_INVALID', `unknown language ${o.lang}`, {
      temporary: false,
      hint: 'use --lang en or --lang de',
    });
  }
  const version = ['2013', '2016', '2019'].includes(o.version) ? '2013' : o.version;
  if (version !== '2010' && version !== '2013') {
    throw new PostboteError('CONFIG_INVALID', `unknown Exchange version ${o.version}`, {
      temporary: false,
      hint: 'use --version 2010, or 2013 for 2013/2016/2019',
    });
  }
  const { config } = setup(o.config, true);
  const script = exchangeScript(config, {
    lang: lang as Lang,
    version: version as ExchangeVersion,
    configFile: o.config,
  });
  process.stdout.write(script.text);
}
