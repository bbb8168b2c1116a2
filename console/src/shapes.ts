// Names for the answers several pages share. Every one is taken from the types generated from the
// admin door's OpenAPI document (generated/api.d.ts), never written by hand: a route that changes its
// answer changes these, and a page that no longer fits fails the console's type check.
import type { Answer } from './api';

export type ProvidersAnswer = Answer<'/providers'>;
export type ProviderView = ProvidersAnswer['providers'][number];

export type ReconciliationRun = Answer<'/reconciliations/{id}'>;
export type ReconciliationReport = Answer<'/reconciliations/{id}/report'>;
export type Discrepancy = ReconciliationReport['discrepancies'][number];

export type Property = Answer<'/properties'>['properties'][number];
export type Unit = Answer<'/properties/{id}/units'>['units'][number];
export type Mapping = Answer<'/units/{id}/mappings'>['mappings'][number];
export type Overbooking = Answer<'/overbookings'>['overbookings'][number];

export type ChannelQueue = Answer<'/channels/{channel}/queue'>;
export type ResyncRun = Answer<'/channels/{channel}/resyncs'>['runs'][number];
export type ChannelAccount = Answer<'/channels/airbnb/accounts'>['accounts'][number];

export type IcalExport = Answer<'/units/{id}/ical/exports'>['exports'][number];
export type IssuedIcalExport = Answer<'/units/{id}/ical/exports', 'post'>;
export type IcalImport = Answer<'/units/{id}/ical/imports'>['imports'][number];
