{ a = throw "strict"; }
