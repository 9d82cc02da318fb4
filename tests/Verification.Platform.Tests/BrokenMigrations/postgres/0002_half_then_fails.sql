CREATE TABLE broken_second (id integer PRIMARY KEY);
SELECT * FROM no_such_table;
