let x = 1; in "${toString x}"
