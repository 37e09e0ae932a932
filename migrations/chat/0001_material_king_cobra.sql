CREATE TABLE `parked_members` (
	`user_id` text PRIMARY KEY NOT NULL
);
