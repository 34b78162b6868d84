import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AnswerEvent } from './answer.service';

/** True when the client asks for server-sent events (`Accept: text/event-stream`). */
export function wantsEventStream(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  return typeof accept === 'string' && /(^|,)\s*text\/event-stream\s*(;|,|$)/i.test(accept);
}

/**
 * A streamed answer as a `text/event-stream` body, for the handler to return (Fastify pipes a returned
 * stream into the response with back-pressure, and destroys it when the client goes). `open` gets a signal
 * that aborts when the client disconnects — before the first event (the response's `close`) or during the
 * stream (the body destroyed early) — and passes it to the upstream request, so a client that leaves stops
 * the generation. Until `open` resolves nothing is sent: its errors are answered as JSON with their status.
 */
export async function eventStream(
  reply: FastifyReply,
  open: (signal: AbortSignal) => Promise<AsyncGenerator<AnswerEvent>>,
): Promise<Readable> {
  const gone = new AbortController();
  const onClose = (): void => {
    if (!reply.raw.writableFinished) gone.abort();
  };
  reply.raw.once('close', onClose);
  let events: AsyncGenerator<AnswerEvent>;
  try {
    events = await open(gone.signal);
  } catch (err) {
    reply.raw.off('close', onClose);
    throw err;
  }
  const body = Readable.from(format(events), { objectMode: false });
  body.once('close', () => {
    if (!body.readableEnded) gone.abort();
  });
  void reply
    .header('content-type', 'text/event-stream; charset=utf-8')
    .header('cache-control', 'no-cache, no-transform')
    .header('x-accel-buffering', 'no');
  return body;
}

async function* format(events: AsyncGenerator<AnswerEvent>): AsyncGenerator<string> {
  for await (const e of events) yield `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;
}
