CREATE TABLE teams (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(80) NOT NULL,
  UNIQUE KEY teams_name_key (name)
) ENGINE=InnoDB;
CREATE TABLE users (
  id INT NOT NULL AUTO_INCREMENT,
  email VARCHAR(120) NOT NULL,
  name VARCHAR(50) DEFAULT 'anon' COMMENT 'shown publicly',
  score DECIMAL(10,2) NOT NULL DEFAULT 0.00,
  team_id INT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY users_email_key (email)
) ENGINE=InnoDB COMMENT='people';
INSERT INTO teams (name) VALUES ('core');
