package domain

import "errors"

func asValidation(err error, target **ValidationError) bool { return errors.As(err, target) }
