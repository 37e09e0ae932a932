CREATE TABLE `device_cursors` (
	`device_id` text NOT NULL,
	`chat_id` text NOT NULL,
	`held_seq` integer NOT NULL,
	PRIMARY KEY(`device_id`, `chat_id`)
);
--> statement-breakpoint
CREATE TABLE `inbox` (
	`chat_id` text PRIMARY KEY NOT NULL,
	`type` text NOT NULL,
	`title` text,
	`last_seq` integer DEFAULT 0 NOT NULL,
	`read_seq` integer DEFAULT 0 NOT NULL,
	`delivered_seq` integer DEFAULT 0 NOT NULL,
	`active` integer DEFAULT true NOT NULL
);
--> statement-breakpoint
CREATE TABLE `user_meta` (
	`key` text PRIMARY KEY NOT NULL,
	`value` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `watchers` (
	`user_id` text PRIMARY KEY NOT NULL
);
