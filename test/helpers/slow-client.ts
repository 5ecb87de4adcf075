/** A raw HTTP client that sends slowly, for the timeout tests of the Node server and the local edge. */
import { connect } from 'node:net';

/**
 * Connects to 127.0.0.1:`port`, writes `first`, then the pieces of `trickle` (a string: a character at a time) one
 * every `everyMs` until the server closes (when `halfOpen`, it keeps reading after its own end once all is sent).
 * What the server answered (latin1), how many pieces went out, and how long it all took.
 */
export async function slowClient(
  port: number,
  first: string,
  trickle: string | readonly Uint8Array[] = '',
  everyMs = 50,
  halfOpen = false,
): Promise<{ received: string; sentOfTrickle: number; ms: number }> {
  const started = Date.now();
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: halfOpen });
  await new Promise<void>((ok, fail) => socket.once('connect', ok).once('error', fail));
  let received = '';
  socket.on('data', (chunk) => (received += chunk.toString('latin1')));
  socket.on('error', () => {});
  socket.write(first);
  let at = 0;
  const timer = setInterval(() => {
    if (at < trickle.length && !socket.destroyed && socket.writable) socket.write(trickle[at++]);
    else if (halfOpen && at === trickle.length && socket.writable) socket.end();
  }, everyMs);
  await new Promise<void>((ok) => socket.once('close', () => ok()));
  clearInterval(timer);
  return { received, sentOfTrickle: at, ms: Date.now() - started };
}
