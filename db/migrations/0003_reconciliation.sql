CREATE TABLE "reconciliation_discrepancies" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" text NOT NULL,
	"kind" text NOT NULL,
	"payment_id" text,
	"transaction_id" text,
	"reservation_id" text,
	"provider_reference" text,
	"ledger_status" text,
	"provider_status" text,
	"ledger_amount" bigint,
	"provider_amount" bigint,
	"currency" text,
	"evidence" jsonb NOT NULL,
	"healable" boolean DEFAULT false NOT NULL,
	"healed" boolean DEFAULT false NOT NULL,
	"heal_result" text,
	"heal_attempted_at" timestamp with time zone,
	"healed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "reconciliation_runs" (
	"id" text PRIMARY KEY NOT NULL,
	"temporal_run_id" text NOT NULL,
	"provider" text NOT NULL,
	"period_from" date NOT NULL,
	"period_to" date NOT NULL,
	"trigger" text NOT NULL,
	"status" text NOT NULL,
	"phase" text NOT NULL,
	"pages" integer DEFAULT 0 NOT NULL,
	"transactions_fetched" integer DEFAULT 0 NOT NULL,
	"ledger_payments" integer DEFAULT 0 NOT NULL,
	"matched" integer DEFAULT 0 NOT NULL,
	"discrepancies" integer DEFAULT 0 NOT NULL,
	"healable" integer DEFAULT 0 NOT NULL,
	"healed" integer DEFAULT 0 NOT NULL,
	"counts" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"error" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "reconciliation_transactions" (
	"run_id" text NOT NULL,
	"transaction_id" text NOT NULL,
	"type" text NOT NULL,
	"amount" bigint NOT NULL,
	"currency" text NOT NULL,
	"status" text NOT NULL,
	"settlement" text NOT NULL,
	"expected_settlement_at" timestamp with time zone,
	"occurred_at" timestamp with time zone NOT NULL,
	"in_period" boolean NOT NULL,
	"payment_id" text,
	"provider_reference" text,
	"merchant_reference" text,
	"related_transaction_id" text,
	"resolved_payment_id" text,
	"page" integer NOT NULL,
	"evidence" jsonb,
	CONSTRAINT "reconciliation_transactions_run_id_transaction_id_pk" PRIMARY KEY("run_id","transaction_id")
);
--> statement-breakpoint
ALTER TABLE "reconciliation_discrepancies" ADD CONSTRAINT "reconciliation_discrepancies_run_id_reconciliation_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."reconciliation_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reconciliation_transactions" ADD CONSTRAINT "reconciliation_transactions_run_id_reconciliation_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."reconciliation_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "reconciliation_discrepancies_run_idx" ON "reconciliation_discrepancies" USING btree ("run_id","kind");--> statement-breakpoint
CREATE INDEX "reconciliation_discrepancies_payment_idx" ON "reconciliation_discrepancies" USING btree ("payment_id");--> statement-breakpoint
CREATE INDEX "reconciliation_runs_provider_period_idx" ON "reconciliation_runs" USING btree ("provider","period_from");--> statement-breakpoint
CREATE INDEX "reconciliation_transactions_resolved_idx" ON "reconciliation_transactions" USING btree ("run_id","resolved_payment_id");