[ (1 == 1) ("a" == "a") (null == null) (true == true) (1 == "1") ]
