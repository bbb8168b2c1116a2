// Properties, their units, and each unit's rate plans.
import { asc, eq, inArray } from 'drizzle-orm';
import type { Database } from '../db/client';
import { properties, ratePlans, units } from '../db/schema';
import { InventoryError } from './inventory-error';
import { newInventoryId } from './inventory-ids';

export type PropertyRow = typeof properties.$inferSelect;
export type UnitRow = typeof units.$inferSelect;
export type RatePlanRow = typeof ratePlans.$inferSelect;

/** The unit, or an InventoryError `not_found` (for the repositories that act on a unit's rows). */
export async function requireUnit(db: Database, unitId: string): Promise<UnitRow> {
  const [unit] = await db.select().from(units).where(eq(units.id, unitId));
  if (!unit) throw new InventoryError(`unit ${unitId} not found`, 'not_found');
  return unit;
}

export function createPropertyStore(db: Database) {
  async function getProperty(propertyId: string): Promise<PropertyRow> {
    const [row] = await db.select().from(properties).where(eq(properties.id, propertyId));
    if (!row) throw new InventoryError(`property ${propertyId} not found`, 'not_found');
    return row;
  }

  return {
    async createProperty(input: { name: string; currency: string; timezone?: string }): Promise<PropertyRow> {
      const [row] = await db
        .insert(properties)
        .values({ id: newInventoryId('prop'), name: input.name, currency: input.currency, timezone: input.timezone ?? 'Europe/Stockholm' })
        .returning();
      return row!;
    },

    listProperties: () => db.select().from(properties).orderBy(asc(properties.createdAt)),

    getProperty,

    async createUnit(input: { propertyId: string; name: string; count: number; ratePlans?: Array<{ name: string; code: string }> }) {
      const property = await getProperty(input.propertyId);
      return db.transaction(async (tx) => {
        const [unit] = await tx.insert(units).values({ id: newInventoryId('unit'), propertyId: property.id, name: input.name, count: input.count }).returning();
        const plans = input.ratePlans?.length ? input.ratePlans : [{ name: 'Standard rate', code: 'STANDARD' }];
        const rates = await tx
          .insert(ratePlans)
          .values(plans.map((plan) => ({ id: newInventoryId('rate'), unitId: unit!.id, name: plan.name, code: plan.code })))
          .returning();
        return { ...unit!, ratePlans: rates };
      });
    },

    async listUnits(propertyId: string) {
      await getProperty(propertyId);
      const rows = await db.select().from(units).where(eq(units.propertyId, propertyId)).orderBy(asc(units.createdAt));
      const plans = rows.length ? await db.select().from(ratePlans).where(inArray(ratePlans.unitId, rows.map((row) => row.id))) : [];
      return rows.map((row) => ({ ...row, ratePlans: plans.filter((plan) => plan.unitId === row.id) }));
    },

    async getUnit(unitId: string) {
      const unit = await requireUnit(db, unitId);
      const plans = await db.select().from(ratePlans).where(eq(ratePlans.unitId, unitId));
      const [property] = await db.select().from(properties).where(eq(properties.id, unit.propertyId));
      return { ...unit, ratePlans: plans, currency: property!.currency };
    },
  };
}

export type PropertyStore = ReturnType<typeof createPropertyStore>;
