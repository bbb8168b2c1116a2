CREATE TABLE "provider_call_hours" (
	"provider" text NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"calls" integer DEFAULT 0 NOT NULL,
	"errors" integer DEFAULT 0 NOT NULL,
	"latency_ms_sum" bigint DEFAULT 0 NOT NULL,
	"latency_ms_max" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "provider_call_hours_provider_hour_pk" PRIMARY KEY("provider","hour")
);
--> statement-breakpoint
ALTER TABLE "reconciliation_discrepancies" ADD COLUMN "resolution" text;--> statement-breakpoint
ALTER TABLE "reconciliation_discrepancies" ADD COLUMN "resolved_by" text;--> statement-breakpoint
ALTER TABLE "reconciliation_discrepancies" ADD COLUMN "resolved_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "reconciliation_discrepancies" ADD COLUMN "resolution_note" text;--> statement-breakpoint
ALTER TABLE "reconciliation_runs" ADD COLUMN "ignored" integer DEFAULT 0 NOT NULL;