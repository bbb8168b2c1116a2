// OAuth connects in progress: the state handed to the provider is 256 random bits; only its hash is
// kept, with the API key that started the connect and an expiry. The callback consumes it once.
import { createHash, randomBytes } from 'node:crypto';
import { and, eq, gt, lt, sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import { oauthConnectStates } from '../db/schema';

const hashOf = (state: string) => createHash('sha256').update(state, 'utf8').digest('hex');

export function createOAuthConnectStore(db: Database) {
  return {
    async begin(input: { channel: string; apiKeyId: string; ttlMs: number }): Promise<string> {
      const state = randomBytes(32).toString('base64url');
      await db.insert(oauthConnectStates).values({
        stateHash: hashOf(state),
        channel: input.channel,
        apiKeyId: input.apiKeyId,
        expiresAt: sql`now() + make_interval(secs => ${input.ttlMs / 1000})`,
      });
      // Abandoned connects do not pile up.
      await db.delete(oauthConnectStates).where(lt(oauthConnectStates.expiresAt, sql`now()`));
      return state;
    },

    /** The API key that started this connect, if the state is ours, for this channel and not expired; never twice. */
    async consume(channel: string, state: string): Promise<{ apiKeyId: string } | undefined> {
      const [row] = await db
        .delete(oauthConnectStates)
        .where(and(eq(oauthConnectStates.stateHash, hashOf(state)), eq(oauthConnectStates.channel, channel), gt(oauthConnectStates.expiresAt, sql`now()`)))
        .returning({ apiKeyId: oauthConnectStates.apiKeyId });
      return row;
    },
  };
}

export type OAuthConnectStore = ReturnType<typeof createOAuthConnectStore>;
