variable "account_id" {
  type = string
}
