// The repair nock.ts needs, in a module of its own so that it runs before nock loads: nock.ts imports
// this first, then nock. ES modules run in the order they are imported only while none of them awaits
// at top level: keep this module, and anything it imports, free of top-level await. nock.ts says why.
import net from 'node:net';

const repaired = Symbol.for('missions.test.no-delay');
if (!(net.Socket.prototype as any)[repaired]) {
  const connect = net.Socket.prototype.connect;
  Object.defineProperty(net.Socket.prototype, repaired, { value: true });
  // On the handle itself: Socket.setNoDelay skips an option it believes set.
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    this.once('connect', () => (this as unknown as { _handle?: { setNoDelay?: (on: boolean) => void } })._handle?.setNoDelay?.(true));
    return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof net.Socket.prototype.connect;
}
