CREATE TABLE `attachments` (
	`id` text PRIMARY KEY NOT NULL,
	`uploader` text NOT NULL,
	`name` text NOT NULL,
	`content_type` text NOT NULL,
	`size` integer NOT NULL,
	`created_at` integer NOT NULL,
	`state` text NOT NULL,
	`stored` integer DEFAULT false NOT NULL,
	`seq` integer
);
--> statement-breakpoint
CREATE INDEX `attachments_pending` ON `attachments` (`created_at`) WHERE state IN ('uploading', 'uploaded');--> statement-breakpoint
ALTER TABLE `messages` ADD `attachment` text;