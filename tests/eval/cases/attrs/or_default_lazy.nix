{ a = 1; }.b or (throw "never") 
