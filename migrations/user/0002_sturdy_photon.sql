ALTER TABLE `inbox` ADD `unread` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `inbox` ADD `unread_stale` integer DEFAULT false NOT NULL;