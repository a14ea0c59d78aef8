// Postbote's receive connectors: start every configured listener, stop them all.
import type { ReceiveConfig } from '../config/index.js';
import { PostboteError } from '../errors.js';
import type { Logger } from '../log.js';
import { type Listener, startListener } from './listener.js';

export type { Listener } from './listener.js';

export interface Receivers {
  listeners: Listener[];
  /** Stops accepting; sessions in DATA finish (or get 421 after smtp-server's close timeout). */
  close(): Promise<void>;
}

export async function startReceivers(configs: readonly ReceiveConfig[], logger: Logger): Promise<Receivers> {
  const listeners: Listener[] = [];
  const close = async () => {
    await Promise.all(listeners.map((l) => l.close()));
  };
  for (const config of configs) {
    try {
      listeners.push(await startListener(config, logger));
    } catch (err) {
      await close();
      const code = (err as NodeJS.ErrnoException).code;
      throw new PostboteError('CONFIG_INVALID', `receive ${config.name}: cannot listen (${code ?? err})`, {
        temporary: false,
        cause: err,
        where: `receive ${config.name} ${config.bindings.join(', ')}`,
        hint:
          code === 'EADDRINUSE'
            ? 'another program already uses this port: stop it or change bindings'
            : code === 'EACCES'
              ? 'ports below 1024 need root or CAP_NET_BIND_SERVICE: use a port like 2526'
              : code === 'EADDRNOTAVAIL'
                ? 'the binding address is not an address of this machine'
                : undefined,
      });
    }
  }
  return { listeners, close };
}
