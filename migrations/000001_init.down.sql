DROP TABLE crownings;
DROP TABLE task_results;
DROP TABLE submissions;
DROP TABLE challenges;
DROP TABLE api_keys;
DROP TABLE competitors;
