// One logger for the process, with the secrets it could ever be handed redacted by path.
import pino, { type Logger } from 'pino';

export const REDACTED_PATHS = [
  'token',
  '*.token',
  'privateKey',
  '*.privateKey',
  'secret',
  '*.secret',
  'apiKey',
  '*.apiKey',
  'headers.authorization',
  '*.headers.authorization',
  'req.headers.authorization',
  'err.request.headers.authorization',
  'err.response.headers.authorization',
  // ioredis keeps a failed command's arguments on its error: AUTH's are the Redis password.
  'err.command.args',
  'env',
  '*.env',
  'GIT_CONFIG_VALUE_0',
  '*.GIT_CONFIG_VALUE_0',
];

export function createLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      name: 'missions',
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    options.destination,
  );
}
