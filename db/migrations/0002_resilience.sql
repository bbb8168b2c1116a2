CREATE TABLE "circuit_breaker_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"provider" text NOT NULL,
	"from_state" text NOT NULL,
	"to_state" text NOT NULL,
	"reason" text NOT NULL,
	"calls" integer,
	"failures" integer,
	"failure_rate" double precision,
	"actor" text NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "circuit_breakers" (
	"provider" text PRIMARY KEY NOT NULL,
	"state" text DEFAULT 'closed' NOT NULL,
	"window_started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"window_calls" integer DEFAULT 0 NOT NULL,
	"window_failures" integer DEFAULT 0 NOT NULL,
	"opened_at" timestamp with time zone,
	"open_until" timestamp with time zone,
	"failed_probes" integer DEFAULT 0 NOT NULL,
	"probe_owner" text,
	"probe_until" timestamp with time zone,
	"last_failure" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "oauth_tokens" (
	"key" text PRIMARY KEY NOT NULL,
	"provider" text NOT NULL,
	"access_token_enc" text,
	"refresh_token_enc" text,
	"fingerprint" text,
	"scopes" text,
	"issued_at" timestamp with time zone,
	"expires_at" timestamp with time zone,
	"refresh_count" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	"last_error_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "provider_quota_usage" (
	"provider" text NOT NULL,
	"process" text NOT NULL,
	"window_started_at" timestamp with time zone NOT NULL,
	"window_seconds" integer NOT NULL,
	"calls" integer NOT NULL,
	"throttled_ms" integer DEFAULT 0 NOT NULL,
	"limit" integer,
	"remaining" integer,
	"reset_at" timestamp with time zone,
	"details" jsonb,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "provider_quota_usage_provider_process_pk" PRIMARY KEY("provider","process")
);
--> statement-breakpoint
CREATE INDEX "circuit_breaker_events_provider_idx" ON "circuit_breaker_events" USING btree ("provider","at");