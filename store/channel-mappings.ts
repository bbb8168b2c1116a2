// Which channel listing (a Booking.com room, an Airbnb listing) sells which unit.
import { and, asc, eq } from 'drizzle-orm';
import type { Database } from '../db/client';
import { channelMappings } from '../db/schema';
import type { ChannelMapping, ChannelName } from '../domain/bookings';
import { InventoryError, isUniqueViolation } from './inventory-error';
import { newInventoryId } from './inventory-ids';
import { requireUnit } from './properties';

export type MappingRow = typeof channelMappings.$inferSelect;

export function toMapping(row: MappingRow): ChannelMapping {
  return {
    mappingId: row.id,
    unitId: row.unitId,
    channel: row.channel as ChannelName,
    externalAccountId: row.externalAccountId,
    externalListingId: row.externalListingId,
    externalRateId: row.externalRateId ?? undefined,
  };
}

export function createChannelMappingStore(db: Database) {
  return {
    async createMapping(input: {
      unitId: string;
      channel: ChannelName;
      externalAccountId: string;
      externalListingId: string;
      externalRateId?: string;
      ratePlanId?: string;
    }): Promise<MappingRow> {
      await requireUnit(db, input.unitId);
      try {
        const [row] = await db
          .insert(channelMappings)
          .values({
            id: newInventoryId('map'),
            unitId: input.unitId,
            channel: input.channel,
            externalAccountId: input.externalAccountId,
            externalListingId: input.externalListingId,
            externalRateId: input.externalRateId ?? null,
            ratePlanId: input.ratePlanId ?? null,
          })
          .returning();
        return row!;
      } catch (err) {
        if (isUniqueViolation(err)) {
          throw new InventoryError(`unit ${input.unitId} or ${input.channel} listing ${input.externalListingId} is already mapped`, 'conflict');
        }
        throw err;
      }
    },

    listMappings: (unitId: string) => db.select().from(channelMappings).where(eq(channelMappings.unitId, unitId)),

    listChannelMappings: (channel: ChannelName) =>
      db.select().from(channelMappings).where(eq(channelMappings.channel, channel)).orderBy(asc(channelMappings.unitId)),

    async getMapping(unitId: string, channel: ChannelName): Promise<ChannelMapping | undefined> {
      const [row] = await db
        .select()
        .from(channelMappings)
        .where(and(eq(channelMappings.unitId, unitId), eq(channelMappings.channel, channel)));
      return row ? toMapping(row) : undefined;
    },

    async findMappingByExternal(channel: ChannelName, externalAccountId: string, externalListingId: string): Promise<ChannelMapping | undefined> {
      const [row] = await db
        .select()
        .from(channelMappings)
        .where(
          and(
            eq(channelMappings.channel, channel),
            eq(channelMappings.externalAccountId, externalAccountId),
            eq(channelMappings.externalListingId, externalListingId),
          ),
        );
      return row ? toMapping(row) : undefined;
    },
  };
}

export type ChannelMappingStore = ReturnType<typeof createChannelMappingStore>;
