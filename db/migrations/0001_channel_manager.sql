CREATE TABLE "calendar_days" (
	"unit_id" text NOT NULL,
	"date" date NOT NULL,
	"allotment" integer DEFAULT 0 NOT NULL,
	"booked" integer DEFAULT 0 NOT NULL,
	"price" bigint,
	"currency" text,
	"min_nights" integer DEFAULT 1 NOT NULL,
	"closed_to_arrival" boolean DEFAULT false NOT NULL,
	"closed" boolean DEFAULT false NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "calendar_days_unit_id_date_pk" PRIMARY KEY("unit_id","date"),
	CONSTRAINT "calendar_days_no_overbooking" CHECK ("calendar_days"."booked" <= "calendar_days"."allotment"),
	CONSTRAINT "calendar_days_booked_nonnegative" CHECK ("calendar_days"."booked" >= 0),
	CONSTRAINT "calendar_days_allotment_nonnegative" CHECK ("calendar_days"."allotment" >= 0),
	CONSTRAINT "calendar_days_min_nights_positive" CHECK ("calendar_days"."min_nights" >= 1),
	CONSTRAINT "calendar_days_price_nonnegative" CHECK ("calendar_days"."price" is null or "calendar_days"."price" >= 0)
);
--> statement-breakpoint
CREATE TABLE "channel_accounts" (
	"id" text PRIMARY KEY NOT NULL,
	"channel" text NOT NULL,
	"external_account_id" text NOT NULL,
	"access_token_enc" text NOT NULL,
	"refresh_token_enc" text NOT NULL,
	"access_token_expires_at" timestamp with time zone NOT NULL,
	"scope" text,
	"status" text DEFAULT 'active' NOT NULL,
	"refresh_count" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "channel_calendar_state" (
	"unit_id" text NOT NULL,
	"channel" text NOT NULL,
	"date" date NOT NULL,
	"available" integer NOT NULL,
	"price" bigint,
	"currency" text,
	"min_nights" integer NOT NULL,
	"closed_to_arrival" boolean NOT NULL,
	"closed" boolean NOT NULL,
	"pushed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "channel_calendar_state_unit_id_channel_date_pk" PRIMARY KEY("unit_id","channel","date")
);
--> statement-breakpoint
CREATE TABLE "channel_mappings" (
	"id" text PRIMARY KEY NOT NULL,
	"unit_id" text NOT NULL,
	"channel" text NOT NULL,
	"external_account_id" text NOT NULL,
	"external_listing_id" text NOT NULL,
	"external_rate_id" text,
	"rate_plan_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "channel_messages" (
	"channel" text NOT NULL,
	"message_id" text NOT NULL,
	"kind" text NOT NULL,
	"channel_reservation_id" text NOT NULL,
	"reservation_id" text NOT NULL,
	"payload" jsonb NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"dispatched_at" timestamp with time zone,
	"acked_at" timestamp with time zone,
	"ack_outcome" text,
	"ack_attempts" integer DEFAULT 0 NOT NULL,
	"last_error" text,
	CONSTRAINT "channel_messages_channel_message_id_pk" PRIMARY KEY("channel","message_id")
);
--> statement-breakpoint
CREATE TABLE "channel_resync_runs" (
	"id" text PRIMARY KEY NOT NULL,
	"channel" text NOT NULL,
	"status" text NOT NULL,
	"trigger" text NOT NULL,
	"pages" integer DEFAULT 0 NOT NULL,
	"reservations_checked" integer DEFAULT 0 NOT NULL,
	"reservations_corrected" integer DEFAULT 0 NOT NULL,
	"calendar_days_checked" integer DEFAULT 0 NOT NULL,
	"calendar_days_corrected" integer DEFAULT 0 NOT NULL,
	"details" jsonb,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "overbooking_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"unit_id" text,
	"channel" text NOT NULL,
	"channel_reservation_id" text NOT NULL,
	"reservation_id" text NOT NULL,
	"check_in" date NOT NULL,
	"check_out" date NOT NULL,
	"rooms" integer NOT NULL,
	"reason" text NOT NULL,
	"details" jsonb,
	"channel_notified" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "properties" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"timezone" text DEFAULT 'Europe/Stockholm' NOT NULL,
	"currency" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rate_plans" (
	"id" text PRIMARY KEY NOT NULL,
	"unit_id" text NOT NULL,
	"name" text NOT NULL,
	"code" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "reservations" (
	"id" text PRIMARY KEY NOT NULL,
	"unit_id" text,
	"channel" text NOT NULL,
	"channel_reservation_id" text,
	"status" text NOT NULL,
	"check_in" date NOT NULL,
	"check_out" date NOT NULL,
	"rooms" integer DEFAULT 1 NOT NULL,
	"guest_name" text,
	"total_amount" bigint,
	"currency" text,
	"payment_id" text,
	"hold_expires_at" timestamp with time zone,
	"reason" text,
	"workflow_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "reservations_stay_order" CHECK ("reservations"."check_out" > "reservations"."check_in"),
	CONSTRAINT "reservations_rooms_positive" CHECK ("reservations"."rooms" >= 1)
);
--> statement-breakpoint
CREATE TABLE "units" (
	"id" text PRIMARY KEY NOT NULL,
	"property_id" text NOT NULL,
	"name" text NOT NULL,
	"count" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "units_count_positive" CHECK ("units"."count" >= 1)
);
--> statement-breakpoint
ALTER TABLE "calendar_days" ADD CONSTRAINT "calendar_days_unit_id_units_id_fk" FOREIGN KEY ("unit_id") REFERENCES "public"."units"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "channel_calendar_state" ADD CONSTRAINT "channel_calendar_state_unit_id_units_id_fk" FOREIGN KEY ("unit_id") REFERENCES "public"."units"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "channel_mappings" ADD CONSTRAINT "channel_mappings_unit_id_units_id_fk" FOREIGN KEY ("unit_id") REFERENCES "public"."units"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "channel_mappings" ADD CONSTRAINT "channel_mappings_rate_plan_id_rate_plans_id_fk" FOREIGN KEY ("rate_plan_id") REFERENCES "public"."rate_plans"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rate_plans" ADD CONSTRAINT "rate_plans_unit_id_units_id_fk" FOREIGN KEY ("unit_id") REFERENCES "public"."units"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reservations" ADD CONSTRAINT "reservations_unit_id_units_id_fk" FOREIGN KEY ("unit_id") REFERENCES "public"."units"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "units" ADD CONSTRAINT "units_property_id_properties_id_fk" FOREIGN KEY ("property_id") REFERENCES "public"."properties"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "channel_accounts_external_idx" ON "channel_accounts" USING btree ("channel","external_account_id");--> statement-breakpoint
CREATE UNIQUE INDEX "channel_mappings_unit_channel_idx" ON "channel_mappings" USING btree ("unit_id","channel");--> statement-breakpoint
CREATE UNIQUE INDEX "channel_mappings_external_idx" ON "channel_mappings" USING btree ("channel","external_account_id","external_listing_id");--> statement-breakpoint
CREATE INDEX "channel_messages_unacked_idx" ON "channel_messages" USING btree ("channel","acked_at");--> statement-breakpoint
CREATE INDEX "channel_resync_runs_channel_idx" ON "channel_resync_runs" USING btree ("channel","started_at");--> statement-breakpoint
CREATE UNIQUE INDEX "overbooking_events_reservation_idx" ON "overbooking_events" USING btree ("reservation_id","channel_reservation_id","check_in","check_out");--> statement-breakpoint
CREATE UNIQUE INDEX "rate_plans_unit_code_idx" ON "rate_plans" USING btree ("unit_id","code");--> statement-breakpoint
CREATE UNIQUE INDEX "reservations_channel_ref_idx" ON "reservations" USING btree ("channel","channel_reservation_id");--> statement-breakpoint
CREATE INDEX "reservations_unit_stay_idx" ON "reservations" USING btree ("unit_id","check_in");--> statement-breakpoint
CREATE INDEX "units_property_idx" ON "units" USING btree ("property_id");