// Response shapes every route group shares.
import { z } from 'zod';

export const ErrorBody = z.object({ error: z.string(), message: z.string(), fields: z.array(z.object({ path: z.string(), message: z.string() })).optional() });
