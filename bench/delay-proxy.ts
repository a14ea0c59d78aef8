// A TCP proxy that holds every chunk for a fixed time in each direction, so each round trip to the
// server behind it takes 2 × delay longer, like a distant provider. Order is kept (timers of equal
// length fire in order); a direction with too much in flight pauses its reader.
// Usage: node --import tsx bench/delay-proxy.ts LISTEN_PORT TARGET_PORT ONE_WAY_MS  (prints "ready")
import net from 'node:net';

// Bytes held in one direction before its source is paused: bounds memory, far above one window.
const MAX_IN_FLIGHT = 8 * 1024 * 1024;

function forward(from: net.Socket, to: net.Socket, delayMs: number): void {
  let inFlight = 0;
  from.on('data', (chunk: Buffer) => {
    inFlight += chunk.length;
    if (inFlight > MAX_IN_FLIGHT) from.pause();
    setTimeout(() => {
      inFlight -= chunk.length;
      if (!to.destroyed) to.write(chunk);
      if (inFlight <= MAX_IN_FLIGHT && from.isPaused()) from.resume();
    }, delayMs);
  });
  from.on('end', () => setTimeout(() => to.end(), delayMs));
  from.on('error', () => to.destroy());
}

const [listenPort, targetPort, oneWay] = process.argv.slice(2).map(Number);
const server = net.createServer({ allowHalfOpen: true }, (client) => {
  client.setNoDelay(true);
  const upstream = net.connect({ host: '127.0.0.1', port: targetPort!, allowHalfOpen: true });
  upstream.setNoDelay(true);
  forward(client, upstream, oneWay!);
  forward(upstream, client, oneWay!);
});
server.listen(listenPort, '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => process.exit(0));
