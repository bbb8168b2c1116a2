// The cache behind conditional GETs: the last answer to each provider read, with its ETag. A read
// sends `If-None-Match`; a 304 is answered from here. In-process by default; Redis when REDIS_URL
// is set, so every worker (and the API, which invalidates) shares it. Entries are tagged with the
// ids in their URL, so a webhook about a payment drops every cached read of that payment and the
// next read is a full one.
import type { Redis } from 'ioredis';

export interface CachedResponse {
  etag: string;
  status: number;
  /** The headers a client needs to read the body again (content type). */
  headers: Record<string, string>;
  body: string;
  storedAt: number;
}

export interface ResponseCache {
  readonly kind: 'memory' | 'redis';
  get(provider: string, key: string): Promise<CachedResponse | undefined>;
  set(provider: string, key: string, entry: CachedResponse, tags: readonly string[]): Promise<void>;
  /** Drops every entry tagged with `reference` (a payment's provider reference). */
  invalidate(provider: string, reference: string): Promise<number>;
  close(): Promise<void>;
}

/** The ids in a URL: path segments and query values that contain a digit and are 6+ characters. */
export function cacheTagsOf(url: string): string[] {
  const parsed = new URL(url, 'http://cache.invalid');
  const parts = [...parsed.pathname.split('/').map((part) => decodeURIComponent(part)), ...parsed.searchParams.values()];
  return [...new Set(parts.filter((part) => part.length >= 6 && /\d/.test(part)))];
}

export function createMemoryResponseCache(options: { maxEntries?: number; ttlMs?: number; now?: () => number } = {}): ResponseCache {
  const maxEntries = options.maxEntries ?? 5_000;
  const ttlMs = options.ttlMs ?? 3_600_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, { entry: CachedResponse; tags: readonly string[] }>();
  const tagged = new Map<string, Set<string>>();
  const id = (provider: string, key: string) => `${provider}\u0000${key}`;
  const tagId = (provider: string, tag: string) => `${provider}\u0000${tag}`;

  const drop = (entryId: string) => {
    const found = entries.get(entryId);
    if (!found) return false;
    entries.delete(entryId);
    const provider = entryId.split('\u0000')[0]!;
    for (const tag of found.tags) {
      const members = tagged.get(tagId(provider, tag));
      members?.delete(entryId);
      if (members?.size === 0) tagged.delete(tagId(provider, tag));
    }
    return true;
  };

  return {
    kind: 'memory',
    async get(provider, key) {
      const entryId = id(provider, key);
      const found = entries.get(entryId);
      if (!found) return undefined;
      if (now() - found.entry.storedAt > ttlMs) {
        drop(entryId);
        return undefined;
      }
      // Least recently used goes first when the cache is full.
      entries.delete(entryId);
      entries.set(entryId, found);
      return found.entry;
    },
    async set(provider, key, entry, tags) {
      const entryId = id(provider, key);
      drop(entryId);
      entries.set(entryId, { entry, tags });
      for (const tag of tags) {
        const members = tagged.get(tagId(provider, tag)) ?? new Set<string>();
        members.add(entryId);
        tagged.set(tagId(provider, tag), members);
      }
      while (entries.size > maxEntries) drop(entries.keys().next().value!);
    },
    async invalidate(provider, reference) {
      const members = [...(tagged.get(tagId(provider, reference)) ?? [])];
      return members.filter(drop).length;
    },
    async close() {
      entries.clear();
      tagged.clear();
    },
  };
}

export function createRedisResponseCache(redis: Redis, options: { prefix?: string; ttlSeconds?: number } = {}): ResponseCache {
  const prefix = options.prefix ?? 'skerry:http-cache';
  const ttlSeconds = options.ttlSeconds ?? 3_600;
  const entryKey = (provider: string, key: string) => `${prefix}:entry:${provider}:${key}`;
  const tagKey = (provider: string, tag: string) => `${prefix}:tag:${provider}:${tag}`;

  return {
    kind: 'redis',
    async get(provider, key) {
      const text = await redis.get(entryKey(provider, key));
      if (!text) return undefined;
      try {
        return JSON.parse(text) as CachedResponse;
      } catch {
        return undefined;
      }
    },
    async set(provider, key, entry, tags) {
      const multi = redis.multi().set(entryKey(provider, key), JSON.stringify(entry), 'EX', ttlSeconds);
      for (const tag of tags) multi.sadd(tagKey(provider, tag), entryKey(provider, key)).expire(tagKey(provider, tag), ttlSeconds);
      await multi.exec();
    },
    async invalidate(provider, reference) {
      const tag = tagKey(provider, reference);
      const members = await redis.smembers(tag);
      if (members.length === 0) return 0;
      const removed = await redis.del(...members, tag);
      return Math.max(0, removed - 1);
    },
    async close() {
      // The connection belongs to whoever created it.
    },
  };
}
