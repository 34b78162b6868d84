import type { FastifyInstance } from 'fastify';
import { AppError } from '@app/errors';
import { NulCharacterError, nulFields } from './nul-guard';

export class JsonTooDeepError extends AppError {
  constructor(maxDepth: number) {
    super(400, 'MALFORMED_JSON', `JSON nested deeper than ${maxDepth} levels (BODY_JSON_MAX_DEPTH)`, {
      maxDepth,
    });
  }
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/**
 * Whether JSON text nests objects/arrays deeper than `maxDepth`: one pass over the characters, brackets
 * inside strings ignored. Deep nesting is cheap to send and expensive downstream (recursive validation
 * and transformation overflow the stack at a few thousand levels), so it is refused before parsing.
 * Malformed text is not this function's concern: the parser that runs next reports it.
 */
export function jsonDepthExceeds(text: string, maxDepth: number): boolean {
  // depth d needs d opening brackets: short bodies cannot exceed it
  if (text.length <= maxDepth) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return false;
}

/**
 * Replaces Fastify's application/json parser with the same parser (secure-json-parse, prototype
 * poisoning refused, MALFORMED_JSON / PAYLOAD_TOO_LARGE unchanged) behind two checks that run before
 * any validation: nesting deeper than `maxDepth` (400 MALFORMED_JSON naming the limit), and NUL
 * characters in any string or key (400 VALIDATION_FAILED naming the field — PostgreSQL cannot store them).
 * A NUL can only appear in JSON text escaped, so the walk of the parsed value runs only when the text
 * contains the escape.
 */
export function installJsonBodyParser(fastify: FastifyInstance, opts: { maxDepth: number }): void {
  const parse = fastify.getDefaultJsonParser('error', 'error');
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    if (jsonDepthExceeds(text, opts.maxDepth)) return done(new JsonTooDeepError(opts.maxDepth), undefined);
    void parse(request, text, (err, value) => {
      if (err) return done(err, undefined);
      if (text.includes('\\u0000')) {
        const fields = nulFields(value);
        if (fields.length) return done(new NulCharacterError(fields), undefined);
      }
      done(null, value);
    });
  });
}
