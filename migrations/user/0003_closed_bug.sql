CREATE TABLE `mutes` (
	`chat_id` text PRIMARY KEY NOT NULL,
	`until` integer
);
--> statement-breakpoint
CREATE TABLE `push_pending` (
	`device_id` text NOT NULL,
	`chat_id` text NOT NULL,
	`payload` text,
	`due_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`last_sent_at` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`device_id`, `chat_id`)
);
--> statement-breakpoint
CREATE TABLE `push_subscriptions` (
	`device_id` text PRIMARY KEY NOT NULL,
	`endpoint` text NOT NULL,
	`p256dh` text NOT NULL,
	`auth` text NOT NULL,
	`created_at` integer NOT NULL
);
