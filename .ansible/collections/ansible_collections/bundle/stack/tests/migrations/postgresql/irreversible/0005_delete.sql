DELETE FROM customers WHERE name = 'Linus';
