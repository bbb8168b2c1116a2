// The reconciliation workflows' messages: the state query, workflow ids and the nightly schedule's id.
import { defineQuery } from '@temporalio/workflow';
import type { ReconciliationState } from '../../domain/reconciliation';

export const reconciliationStateQuery = defineQuery<ReconciliationState>('reconciliationState');
