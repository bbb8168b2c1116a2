// The iCal import polls as the API (and the CLI through it) drives them: started when a feed is
// added and at every API start for the feeds that exist, asked to run a round now, and read.
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { icalImportStateQuery, icalImportWorkflow, type IcalImportState } from '../workflows/bookings/ical-import';
import { pollNowSignal } from '../workflows/bookings/messages';
import { icalImportWorkflowId } from '../domain/workflow-ids';
import { channelSearchAttribute, listingIdSearchAttribute } from '../domain/search-attributes';
import { DEFAULT_TEMPORAL_DEADLINES, withinDeadline, type TemporalDeadlines } from './deadlines';

export function createIcalClient(options: { temporal: Client; taskQueue: string; deadlines?: Partial<TemporalDeadlines> }) {
  const { temporal, taskQueue } = options;
  const callMs = options.deadlines?.callMs ?? DEFAULT_TEMPORAL_DEADLINES.callMs;
  const within = withinDeadline(temporal);

  return {
    /** Starts the feed's poll unless it runs; idempotent. */
    async ensureImportPoll(feed: { id: string; unitId: string; channel: string }): Promise<string> {
      const workflowId = icalImportWorkflowId(feed.id);
      try {
        await within(callMs, () =>
          temporal.workflow.start(icalImportWorkflow, {
            taskQueue,
            workflowId,
            args: [{ feedId: feed.id }],
            workflowIdConflictPolicy: 'USE_EXISTING',
            typedSearchAttributes: [
              { key: channelSearchAttribute, value: 'ical' },
              { key: listingIdSearchAttribute, value: feed.unitId },
            ],
            staticSummary: `iCal import of ${feed.channel}'s calendar for ${feed.unitId}`,
          }),
        );
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
      return workflowId;
    },

    /** A round now (after a setting changed, or when a person wants the OTA's latest). */
    async pollNow(feedId: string): Promise<void> {
      await within(callMs, () => temporal.workflow.getHandle(icalImportWorkflowId(feedId)).signal(pollNowSignal));
    },

    async getImportPoll(feedId: string): Promise<IcalImportState | undefined> {
      try {
        return await within(callMs, () => temporal.workflow.getHandle<typeof icalImportWorkflow>(icalImportWorkflowId(feedId)).query(icalImportStateQuery));
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw err;
      }
    },
  };
}

export type IcalClient = ReturnType<typeof createIcalClient>;
