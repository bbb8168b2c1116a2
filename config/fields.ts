// The shapes environment variables take, shared by every configuration module.
import { z } from 'zod';

export const durationMs = (fallback: number) => z.coerce.number().int().positive().default(fallback);
export const port = (fallback: number) => z.coerce.number().int().min(1).max(65_535).default(fallback);
/** An empty variable counts as unset: `FOO=` in an env file must not become the empty string. */
export const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .optional();
/** A comma-separated list (several webhook secrets during a rotation). */
export const secretList = z
  .string()
  .optional()
  .transform((value) =>
    (value ?? '')
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean),
  );
