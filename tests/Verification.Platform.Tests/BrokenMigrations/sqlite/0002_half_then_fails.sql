CREATE TABLE broken_second (id INTEGER PRIMARY KEY);
SELECT * FROM no_such_table;
