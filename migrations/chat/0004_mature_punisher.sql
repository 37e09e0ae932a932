ALTER TABLE `parked_members` ADD `push` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `parked_members` ADD `notified_seq` integer DEFAULT 0 NOT NULL;