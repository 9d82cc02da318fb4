CREATE TABLE broken_first (id integer PRIMARY KEY);
