CREATE TABLE "channel_push_failures" (
	"unit_id" text NOT NULL,
	"channel" text NOT NULL,
	"date" date NOT NULL,
	"failed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"error" text NOT NULL,
	CONSTRAINT "channel_push_failures_unit_id_channel_date_pk" PRIMARY KEY("unit_id","channel","date")
);
--> statement-breakpoint
ALTER TABLE "channel_push_failures" ADD CONSTRAINT "channel_push_failures_unit_id_units_id_fk" FOREIGN KEY ("unit_id") REFERENCES "public"."units"("id") ON DELETE no action ON UPDATE no action;