ALTER TABLE "calendar_days" ADD COLUMN "min_stay_through" integer;--> statement-breakpoint
ALTER TABLE "calendar_days" ADD COLUMN "max_stay" integer;--> statement-breakpoint
ALTER TABLE "calendar_days" ADD COLUMN "closed_to_departure" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "channel_calendar_state" ADD COLUMN "min_stay_through" integer;--> statement-breakpoint
ALTER TABLE "channel_calendar_state" ADD COLUMN "max_stay" integer;--> statement-breakpoint
ALTER TABLE "channel_calendar_state" ADD COLUMN "closed_to_departure" boolean DEFAULT false NOT NULL;