// Import nock from here, never from 'nock' (.ci/run checks): the connections nock lets through are
// repaired first (no-delay.ts), and the repair works only if it runs before nock loads.
//
// nock's interceptor (@mswjs/interceptors) takes every TCP connection first, to read the request.
// One it lets through (to 127.0.0.1: the model server, the app's pages, the GitHub proxy) is served
// by a real socket the interceptor opens, whose handle it then swaps into the client's socket.
// fetch asks for TCP_NODELAY while connecting, on its socket, which holds the interceptor's stand-in
// handle then; Node records the option as set, so the real handle swapped in never gets it. fetch
// writes a request's headers and body apart, and from a connection's third request on, the body
// waited for the server's delayed ACK: 40–45 ms on a model request, against 2–3 ms with the repair.
// It wraps `connect` to set TCP_NODELAY on every socket's handle once connected; the interceptor
// keeps the `connect` it finds when nock loads and opens its real sockets with it, hence the order.
import './no-delay.ts';
import nock from 'nock';

export type Scope = nock.Scope;
export type Interceptor = nock.Interceptor;
export default nock;
