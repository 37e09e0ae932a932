CREATE TABLE `reactions` (
	`target` integer NOT NULL,
	`user_id` text NOT NULL,
	`emoji` text NOT NULL,
	`seq` integer NOT NULL,
	PRIMARY KEY(`target`, `user_id`)
);
--> statement-breakpoint
DROP INDEX `messages_sender_client_msg_id`;--> statement-breakpoint
ALTER TABLE `messages` ADD `target` integer;--> statement-breakpoint
ALTER TABLE `messages` ADD `reply_to` integer;--> statement-breakpoint
ALTER TABLE `messages` ADD `edited` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `messages` ADD `deleted` integer DEFAULT false NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `messages_sender_client_id` ON `messages` (`sender`,`client_msg_id`) WHERE kind <> 'system';--> statement-breakpoint
CREATE INDEX `messages_target` ON `messages` (`target`) WHERE target IS NOT NULL;