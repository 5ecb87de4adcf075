CREATE TABLE `report_rows` (
	`campaign_id` text NOT NULL,
	`by` text NOT NULL,
	`day` text NOT NULL,
	`key` text NOT NULL,
	`impressions` integer DEFAULT 0 NOT NULL,
	`clicks` integer DEFAULT 0 NOT NULL,
	`hides` integer DEFAULT 0 NOT NULL,
	`reports` integer DEFAULT 0 NOT NULL,
	`blocks` integer DEFAULT 0 NOT NULL,
	`spend_micros` integer DEFAULT 0 NOT NULL,
	`video_starts` integer DEFAULT 0 NOT NULL,
	`video_first_quartiles` integer DEFAULT 0 NOT NULL,
	`video_midpoints` integer DEFAULT 0 NOT NULL,
	`video_third_quartiles` integer DEFAULT 0 NOT NULL,
	`video_completes` integer DEFAULT 0 NOT NULL,
	`reach_sketch` text,
	PRIMARY KEY(`campaign_id`, `by`, `day`, `key`)
);
--> statement-breakpoint
CREATE TABLE `traffic_daily` (
	`day` text NOT NULL,
	`country` text NOT NULL,
	`language` text NOT NULL,
	`platform` text NOT NULL,
	`requests` integer DEFAULT 0 NOT NULL,
	`opportunities` integer DEFAULT 0 NOT NULL,
	`served` integer DEFAULT 0 NOT NULL,
	`reach_sketch` text,
	PRIMARY KEY(`day`, `country`, `language`, `platform`)
);
--> statement-breakpoint
CREATE TABLE `traffic_totals` (
	`day` text PRIMARY KEY NOT NULL,
	`impressions` integer DEFAULT 0 NOT NULL,
	`clicks` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE `user_mutes` (
	`uid` text NOT NULL,
	`category` text NOT NULL,
	`at` integer NOT NULL,
	PRIMARY KEY(`uid`, `category`)
);
--> statement-breakpoint
ALTER TABLE `advertisers` ADD `legacy_category` text;--> statement-breakpoint
ALTER TABLE `reservations` ADD `country` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `reservations` ADD `platform` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `reservations` ADD `video` integer DEFAULT false NOT NULL;--> statement-breakpoint
-- Daily report rows move into report_rows as the 'day' breakdown (video counters start at 0); 0004 drops report_daily.
INSERT INTO `report_rows` (`campaign_id`, `by`, `day`, `key`, `impressions`, `clicks`, `hides`, `reports`, `blocks`, `spend_micros`, `reach_sketch`)
SELECT `campaign_id`, 'day', `day`, '', `impressions`, `clicks`, `hides`, `reports`, `blocks`, `spend_micros`, `reach_sketch` FROM `report_daily`;
--> statement-breakpoint
-- Categories become the fixed list (src/engine/categories.ts): free text that names one (an id, a label,
-- an IAB id or a common synonym) is mapped; anything else is kept in legacy_category and cleared.
UPDATE `advertisers` SET `legacy_category` = `category`, `category` = NULL
WHERE `category` IS NOT NULL AND lower(trim(`category`)) NOT IN ('attractions', '150', 'automotive', '1', 'books-literature', 'books literature', 'books and literature', '42', 'business-finance', 'business finance', 'business and finance', '52', 'careers', '123', 'communication', '80dv8o', 'education', '132', 'entertainment', 'jlbcu7', 'events', '8vzqhl', 'family-relationships', 'family relationships', 'family and relationships', '186', 'fine-art', 'fine art', '201', 'food-drink', 'food drink', 'food & drink', 'food and drink', '210', 'healthy-living', 'healthy living', '223', 'hobbies-interests', 'hobbies interests', 'hobbies & interests', 'hobbies and interests', '239', 'holidays', '1kxcld', 'home-garden', 'home garden', 'home & garden', 'home and garden', '274', 'law', '383', 'medical-health', 'medical health', '286', 'personal-celebrations', 'personal celebrations', 'personal celebrations & life events', 'personal celebrations and life events', '163', 'personal-finance', 'personal finance', '391', 'pets', '422', 'politics', '386', 'pop-culture', 'pop culture', '432', 'real-estate', 'real estate', '441', 'religion-spirituality', 'religion spirituality', 'religion & spirituality', 'religion and spirituality', '453', 'science', '464', 'shopping', '473', 'sports', '483', 'style-fashion', 'style fashion', 'style & fashion', 'style and fashion', '552', 'technology-computing', 'technology computing', 'technology & computing', 'technology and computing', '596', 'travel', '653', 'video-gaming', 'video gaming', '680', 'food', 'restaurant', 'restaurants', 'bakery', 'cafe', 'coffee', 'drinks', 'food and beverage', 'catering', 'grocery', 'retail', 'shop', 'store', 'ecommerce', 'e-commerce', 'fashion', 'clothing', 'apparel', 'beauty', 'cosmetics', 'tech', 'technology', 'software', 'electronics', 'it', 'finance', 'business', 'banking', 'bank', 'insurance', 'health', 'medical', 'pharmacy', 'clinic', 'fitness', 'gym', 'wellness', 'sport', 'cars', 'auto', 'car', 'hotel', 'hotels', 'tourism', 'games', 'gaming', 'music', 'movies', 'cinema', 'media', 'books', 'school', 'courses', 'jobs', 'recruiting', 'property', 'garden', 'furniture', 'home', 'pet', 'telecom', 'legal', 'art', 'church');--> statement-breakpoint
UPDATE `advertisers` SET `category` = CASE lower(trim(`category`))
  WHEN 'attractions' THEN 'attractions'
  WHEN '150' THEN 'attractions'
  WHEN 'automotive' THEN 'automotive'
  WHEN '1' THEN 'automotive'
  WHEN 'books-literature' THEN 'books-literature'
  WHEN 'books literature' THEN 'books-literature'
  WHEN 'books and literature' THEN 'books-literature'
  WHEN '42' THEN 'books-literature'
  WHEN 'business-finance' THEN 'business-finance'
  WHEN 'business finance' THEN 'business-finance'
  WHEN 'business and finance' THEN 'business-finance'
  WHEN '52' THEN 'business-finance'
  WHEN 'careers' THEN 'careers'
  WHEN '123' THEN 'careers'
  WHEN 'communication' THEN 'communication'
  WHEN '80dv8o' THEN 'communication'
  WHEN 'education' THEN 'education'
  WHEN '132' THEN 'education'
  WHEN 'entertainment' THEN 'entertainment'
  WHEN 'jlbcu7' THEN 'entertainment'
  WHEN 'events' THEN 'events'
  WHEN '8vzqhl' THEN 'events'
  WHEN 'family-relationships' THEN 'family-relationships'
  WHEN 'family relationships' THEN 'family-relationships'
  WHEN 'family and relationships' THEN 'family-relationships'
  WHEN '186' THEN 'family-relationships'
  WHEN 'fine-art' THEN 'fine-art'
  WHEN 'fine art' THEN 'fine-art'
  WHEN '201' THEN 'fine-art'
  WHEN 'food-drink' THEN 'food-drink'
  WHEN 'food drink' THEN 'food-drink'
  WHEN 'food & drink' THEN 'food-drink'
  WHEN 'food and drink' THEN 'food-drink'
  WHEN '210' THEN 'food-drink'
  WHEN 'healthy-living' THEN 'healthy-living'
  WHEN 'healthy living' THEN 'healthy-living'
  WHEN '223' THEN 'healthy-living'
  WHEN 'hobbies-interests' THEN 'hobbies-interests'
  WHEN 'hobbies interests' THEN 'hobbies-interests'
  WHEN 'hobbies & interests' THEN 'hobbies-interests'
  WHEN 'hobbies and interests' THEN 'hobbies-interests'
  WHEN '239' THEN 'hobbies-interests'
  WHEN 'holidays' THEN 'holidays'
  WHEN '1kxcld' THEN 'holidays'
  WHEN 'home-garden' THEN 'home-garden'
  WHEN 'home garden' THEN 'home-garden'
  WHEN 'home & garden' THEN 'home-garden'
  WHEN 'home and garden' THEN 'home-garden'
  WHEN '274' THEN 'home-garden'
  WHEN 'law' THEN 'law'
  WHEN '383' THEN 'law'
  WHEN 'medical-health' THEN 'medical-health'
  WHEN 'medical health' THEN 'medical-health'
  WHEN '286' THEN 'medical-health'
  WHEN 'personal-celebrations' THEN 'personal-celebrations'
  WHEN 'personal celebrations' THEN 'personal-celebrations'
  WHEN 'personal celebrations & life events' THEN 'personal-celebrations'
  WHEN 'personal celebrations and life events' THEN 'personal-celebrations'
  WHEN '163' THEN 'personal-celebrations'
  WHEN 'personal-finance' THEN 'personal-finance'
  WHEN 'personal finance' THEN 'personal-finance'
  WHEN '391' THEN 'personal-finance'
  WHEN 'pets' THEN 'pets'
  WHEN '422' THEN 'pets'
  WHEN 'politics' THEN 'politics'
  WHEN '386' THEN 'politics'
  WHEN 'pop-culture' THEN 'pop-culture'
  WHEN 'pop culture' THEN 'pop-culture'
  WHEN '432' THEN 'pop-culture'
  WHEN 'real-estate' THEN 'real-estate'
  WHEN 'real estate' THEN 'real-estate'
  WHEN '441' THEN 'real-estate'
  WHEN 'religion-spirituality' THEN 'religion-spirituality'
  WHEN 'religion spirituality' THEN 'religion-spirituality'
  WHEN 'religion & spirituality' THEN 'religion-spirituality'
  WHEN 'religion and spirituality' THEN 'religion-spirituality'
  WHEN '453' THEN 'religion-spirituality'
  WHEN 'science' THEN 'science'
  WHEN '464' THEN 'science'
  WHEN 'shopping' THEN 'shopping'
  WHEN '473' THEN 'shopping'
  WHEN 'sports' THEN 'sports'
  WHEN '483' THEN 'sports'
  WHEN 'style-fashion' THEN 'style-fashion'
  WHEN 'style fashion' THEN 'style-fashion'
  WHEN 'style & fashion' THEN 'style-fashion'
  WHEN 'style and fashion' THEN 'style-fashion'
  WHEN '552' THEN 'style-fashion'
  WHEN 'technology-computing' THEN 'technology-computing'
  WHEN 'technology computing' THEN 'technology-computing'
  WHEN 'technology & computing' THEN 'technology-computing'
  WHEN 'technology and computing' THEN 'technology-computing'
  WHEN '596' THEN 'technology-computing'
  WHEN 'travel' THEN 'travel'
  WHEN '653' THEN 'travel'
  WHEN 'video-gaming' THEN 'video-gaming'
  WHEN 'video gaming' THEN 'video-gaming'
  WHEN '680' THEN 'video-gaming'
  WHEN 'food' THEN 'food-drink'
  WHEN 'restaurant' THEN 'food-drink'
  WHEN 'restaurants' THEN 'food-drink'
  WHEN 'bakery' THEN 'food-drink'
  WHEN 'cafe' THEN 'food-drink'
  WHEN 'coffee' THEN 'food-drink'
  WHEN 'drinks' THEN 'food-drink'
  WHEN 'food and beverage' THEN 'food-drink'
  WHEN 'catering' THEN 'food-drink'
  WHEN 'grocery' THEN 'shopping'
  WHEN 'retail' THEN 'shopping'
  WHEN 'shop' THEN 'shopping'
  WHEN 'store' THEN 'shopping'
  WHEN 'ecommerce' THEN 'shopping'
  WHEN 'e-commerce' THEN 'shopping'
  WHEN 'fashion' THEN 'style-fashion'
  WHEN 'clothing' THEN 'style-fashion'
  WHEN 'apparel' THEN 'style-fashion'
  WHEN 'beauty' THEN 'style-fashion'
  WHEN 'cosmetics' THEN 'style-fashion'
  WHEN 'tech' THEN 'technology-computing'
  WHEN 'technology' THEN 'technology-computing'
  WHEN 'software' THEN 'technology-computing'
  WHEN 'electronics' THEN 'technology-computing'
  WHEN 'it' THEN 'technology-computing'
  WHEN 'finance' THEN 'business-finance'
  WHEN 'business' THEN 'business-finance'
  WHEN 'banking' THEN 'personal-finance'
  WHEN 'bank' THEN 'personal-finance'
  WHEN 'insurance' THEN 'personal-finance'
  WHEN 'health' THEN 'medical-health'
  WHEN 'medical' THEN 'medical-health'
  WHEN 'pharmacy' THEN 'medical-health'
  WHEN 'clinic' THEN 'medical-health'
  WHEN 'fitness' THEN 'healthy-living'
  WHEN 'gym' THEN 'healthy-living'
  WHEN 'wellness' THEN 'healthy-living'
  WHEN 'sport' THEN 'sports'
  WHEN 'cars' THEN 'automotive'
  WHEN 'auto' THEN 'automotive'
  WHEN 'car' THEN 'automotive'
  WHEN 'hotel' THEN 'travel'
  WHEN 'hotels' THEN 'travel'
  WHEN 'tourism' THEN 'travel'
  WHEN 'games' THEN 'video-gaming'
  WHEN 'gaming' THEN 'video-gaming'
  WHEN 'music' THEN 'entertainment'
  WHEN 'movies' THEN 'entertainment'
  WHEN 'cinema' THEN 'entertainment'
  WHEN 'media' THEN 'entertainment'
  WHEN 'books' THEN 'books-literature'
  WHEN 'school' THEN 'education'
  WHEN 'courses' THEN 'education'
  WHEN 'jobs' THEN 'careers'
  WHEN 'recruiting' THEN 'careers'
  WHEN 'property' THEN 'real-estate'
  WHEN 'garden' THEN 'home-garden'
  WHEN 'furniture' THEN 'home-garden'
  WHEN 'home' THEN 'home-garden'
  WHEN 'pet' THEN 'pets'
  WHEN 'telecom' THEN 'communication'
  WHEN 'legal' THEN 'law'
  WHEN 'art' THEN 'fine-art'
  WHEN 'church' THEN 'religion-spirituality'
END
WHERE `category` IS NOT NULL;
