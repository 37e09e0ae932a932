ALTER TABLE `inbox` ADD `receipt_delivered` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `inbox` ADD `receipt_read` integer DEFAULT 0 NOT NULL;