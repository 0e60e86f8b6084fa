UPDATE customers SET name = upper(name);
