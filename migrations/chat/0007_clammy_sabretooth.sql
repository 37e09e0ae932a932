CREATE TABLE `member_stretches` (
	`user_id` text NOT NULL,
	`from_seq` integer NOT NULL,
	`to_seq` integer,
	PRIMARY KEY(`user_id`, `from_seq`)
);
--> statement-breakpoint
ALTER TABLE `chat_info` ADD `history` text DEFAULT 'joined' NOT NULL;--> statement-breakpoint
-- Members of groups created before history visibility keep seeing the whole log up to now (as if shared).
INSERT OR IGNORE INTO `member_stretches` (`user_id`, `from_seq`, `to_seq`) SELECT `user_id`, 1, max(`left_seq`) FROM `former_members` GROUP BY `user_id`;
--> statement-breakpoint
INSERT OR REPLACE INTO `member_stretches` (`user_id`, `from_seq`, `to_seq`) SELECT `user_id`, 1, NULL FROM `members` WHERE EXISTS (SELECT 1 FROM `chat_info` WHERE `type` = 'group');
