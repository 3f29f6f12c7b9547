with null; 1
