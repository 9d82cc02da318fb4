-- One database per module (each service owns its own), plus each process's access store (the portal keeps nothing else).
CREATE DATABASE membership;
CREATE DATABASE kur;
CREATE DATABASE prakerja;
CREATE DATABASE nonasn;
CREATE DATABASE rentan;
CREATE DATABASE audit;
CREATE DATABASE access_membership;
CREATE DATABASE access_kur;
CREATE DATABASE access_prakerja;
CREATE DATABASE access_nonasn;
CREATE DATABASE access_rentan;
CREATE DATABASE access_audit;
CREATE DATABASE access_portal;
