// Every custom search attribute Skerry sets, defined once. The typed keys are what workflows upsert
// and clients query; the registration list (the dev server at start, docker-compose's admin-tools job
// and the cluster topology in production) is derived from the same keys, so the two cannot differ.
// Search attributes are stored in the clear by Temporal: none may carry personal data.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

type SearchAttributeKey = ReturnType<typeof defineSearchAttributeKey<SearchAttributeType>>;

export const paymentIdSearchAttribute = defineSearchAttributeKey('PaymentId', SearchAttributeType.KEYWORD);
export const paymentProviderSearchAttribute = defineSearchAttributeKey('PaymentProvider', SearchAttributeType.KEYWORD);
export const paymentStatusSearchAttribute = defineSearchAttributeKey('PaymentStatus', SearchAttributeType.KEYWORD);
/**
 * The caller's booking or order reference (`booking-4711`, a reservation id): searchable, so in the
 * clear in Temporal. Never a guest's name, email or phone number.
 */
export const paymentReferenceSearchAttribute = defineSearchAttributeKey('PaymentReference', SearchAttributeType.KEYWORD);

export const listingIdSearchAttribute = defineSearchAttributeKey('ListingId', SearchAttributeType.KEYWORD);
export const channelSearchAttribute = defineSearchAttributeKey('Channel', SearchAttributeType.KEYWORD);
export const syncStatusSearchAttribute = defineSearchAttributeKey('SyncStatus', SearchAttributeType.KEYWORD);

export const reconciliationProviderSearchAttribute = defineSearchAttributeKey('ReconciliationProvider', SearchAttributeType.KEYWORD);
export const reconciliationStatusSearchAttribute = defineSearchAttributeKey('ReconciliationStatus', SearchAttributeType.KEYWORD);
/** The period's first day (YYYY-MM-DD). */
export const reconciliationDateSearchAttribute = defineSearchAttributeKey('ReconciliationDate', SearchAttributeType.KEYWORD);

const ALL_KEYS: SearchAttributeKey[] = [
  paymentIdSearchAttribute,
  paymentProviderSearchAttribute,
  paymentStatusSearchAttribute,
  paymentReferenceSearchAttribute,
  listingIdSearchAttribute,
  channelSearchAttribute,
  syncStatusSearchAttribute,
  reconciliationProviderSearchAttribute,
  reconciliationStatusSearchAttribute,
  reconciliationDateSearchAttribute,
];

/** The server's names for the SDK's types (`temporal operator search-attribute create --type`). */
const SERVER_TYPE_NAMES: Record<SearchAttributeType, 'Keyword' | 'Text' | 'Int' | 'Datetime' | 'Bool' | 'Double' | 'KeywordList'> = {
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.TEXT]: 'Text',
  [SearchAttributeType.INT]: 'Int',
  [SearchAttributeType.DATETIME]: 'Datetime',
  [SearchAttributeType.BOOL]: 'Bool',
  [SearchAttributeType.DOUBLE]: 'Double',
  [SearchAttributeType.KEYWORD_LIST]: 'KeywordList',
};

/** Every custom search attribute Skerry registers, by name, with the server's type name. */
export const SKERRY_SEARCH_ATTRIBUTES: Record<string, (typeof SERVER_TYPE_NAMES)[SearchAttributeType]> = Object.fromEntries(
  ALL_KEYS.map((key) => [key.name, SERVER_TYPE_NAMES[key.type]]),
);
