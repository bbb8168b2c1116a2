CREATE TABLE "ical_export_feeds" (
	"id" text PRIMARY KEY NOT NULL,
	"unit_id" text NOT NULL,
	"channel" text NOT NULL,
	"token_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	"last_fetched_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "ical_import_events" (
	"feed_id" text NOT NULL,
	"uid" text NOT NULL,
	"reservation_id" text NOT NULL,
	"channel_reservation_id" text NOT NULL,
	"check_in" date NOT NULL,
	"check_out" date NOT NULL,
	"version" integer DEFAULT 1 NOT NULL,
	"dispatched_version" integer,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"missing_since" timestamp with time zone,
	"cancelled_at" timestamp with time zone,
	CONSTRAINT "ical_import_events_feed_id_uid_pk" PRIMARY KEY("feed_id","uid")
);
--> statement-breakpoint
CREATE TABLE "ical_import_feeds" (
	"id" text PRIMARY KEY NOT NULL,
	"unit_id" text NOT NULL,
	"channel" text NOT NULL,
	"url_sealed" text NOT NULL,
	"url_origin" text NOT NULL,
	"interval_ms" integer NOT NULL,
	"grace_ms" integer NOT NULL,
	"stale_after_ms" integer NOT NULL,
	"stale_buffer_days" integer DEFAULT 0 NOT NULL,
	"etag" text,
	"last_modified" text,
	"last_attempt_at" timestamp with time zone,
	"last_success_at" timestamp with time zone,
	"last_error" text,
	"last_error_at" timestamp with time zone,
	"event_count" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"removed_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "ical_export_feeds" ADD CONSTRAINT "ical_export_feeds_unit_id_units_id_fk" FOREIGN KEY ("unit_id") REFERENCES "public"."units"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ical_import_events" ADD CONSTRAINT "ical_import_events_feed_id_ical_import_feeds_id_fk" FOREIGN KEY ("feed_id") REFERENCES "public"."ical_import_feeds"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ical_import_feeds" ADD CONSTRAINT "ical_import_feeds_unit_id_units_id_fk" FOREIGN KEY ("unit_id") REFERENCES "public"."units"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "ical_export_feeds_token_idx" ON "ical_export_feeds" USING btree ("token_hash");--> statement-breakpoint
CREATE INDEX "ical_export_feeds_unit_idx" ON "ical_export_feeds" USING btree ("unit_id");--> statement-breakpoint
CREATE INDEX "ical_import_feeds_unit_idx" ON "ical_import_feeds" USING btree ("unit_id");