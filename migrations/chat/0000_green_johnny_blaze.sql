CREATE TABLE `chat_info` (
	`id` integer PRIMARY KEY NOT NULL,
	`chat_id` text NOT NULL,
	`type` text NOT NULL,
	`title` text,
	`created_by` text,
	`created_at` integer NOT NULL,
	`fanned_out_seq` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE `former_members` (
	`user_id` text NOT NULL,
	`joined_seq` integer NOT NULL,
	`left_seq` integer NOT NULL,
	`delivered_seq` integer NOT NULL,
	`read_seq` integer NOT NULL,
	PRIMARY KEY(`user_id`, `left_seq`)
);
--> statement-breakpoint
CREATE INDEX `former_members_left` ON `former_members` (`left_seq`);--> statement-breakpoint
CREATE TABLE `members` (
	`user_id` text PRIMARY KEY NOT NULL,
	`role` text NOT NULL,
	`joined_seq` integer NOT NULL,
	`delivered_seq` integer DEFAULT 0 NOT NULL,
	`read_seq` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE `messages` (
	`seq` integer PRIMARY KEY NOT NULL,
	`sender` text NOT NULL,
	`client_msg_id` text NOT NULL,
	`body` text NOT NULL,
	`ts` integer NOT NULL,
	`kind` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `messages_sender_client_msg_id` ON `messages` (`sender`,`client_msg_id`) WHERE kind = 'text';