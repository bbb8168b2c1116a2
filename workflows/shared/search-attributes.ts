// Every custom search attribute Skerry registers on the Temporal server (the dev server at start,
// docker-compose's admin-tools job in production). Each domain defines its typed keys next to
// its messages; this is the one list of names and types.
export const SKERRY_SEARCH_ATTRIBUTES: Record<string, 'Keyword' | 'Text' | 'Int' | 'Datetime' | 'Bool' | 'Double'> = {
  PaymentId: 'Keyword',
  PaymentProvider: 'Keyword',
  PaymentStatus: 'Keyword',
  PaymentReference: 'Keyword',
  ListingId: 'Keyword',
  Channel: 'Keyword',
  SyncStatus: 'Keyword',
  ReconciliationProvider: 'Keyword',
  ReconciliationStatus: 'Keyword',
  ReconciliationDate: 'Keyword',
};
